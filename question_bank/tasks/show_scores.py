"""Print what every file of every task scores: ``.venv/bin/python question_bank/tasks/show_scores.py [id ...]``."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.practical.checking import check_file  # noqa: E402
from app.practical.tasks import load_all_tasks  # noqa: E402

for task in load_all_tasks(Path(__file__).resolve().parent):
    if sys.argv[1:] and task.id not in sys.argv[1:]:
        continue
    print(f"{task.id} ({task.points} points, pass {task.pass_fraction:g})")
    for f in sorted(task.folder.glob(f"*.{task.kind}")):
        r = check_file(task, f.read_bytes(), f.name)
        print(f"  {f.name:<20} {r.points_awarded:g}  " + " ".join(("+" if x.passed else "-") + x.rule_id for x in r.rules))
        for x in r.rules:
            if not x.passed:
                print(f"      {x.rule_id}: {x.detail_zh}")
