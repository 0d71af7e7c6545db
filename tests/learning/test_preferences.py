"""The larger-text setting: ?text=large on any page, remembered in the session, as a class on <html>."""
from tests.factories import make_department, make_user


def test_larger_text_is_remembered_and_can_be_turned_off(client, db, login_as):
    user = make_user(make_department())
    db.session.commit()
    assert 'class="text-large"' not in client.get("/login").get_data(as_text=True)
    page = client.get("/login?text=large").get_data(as_text=True)
    assert '<html lang="zh-CN" class="text-large">' in page and 'href="?text=normal"' in page
    login_as(user)
    assert 'class="text-large"' in client.get("/courses/").get_data(as_text=True)
    assert 'class="text-large"' not in client.get("/courses/?text=normal").get_data(as_text=True)
    assert 'class="text-large"' not in client.get("/courses/?text=huge").get_data(as_text=True)


def test_every_page_links_the_favicon_and_a_skip_link(client, db):
    page = client.get("/login").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg"' in page and 'href="#main"' in page
    assert client.get("/static/favicon.svg").status_code == 200
