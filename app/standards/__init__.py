"""Assessment standards (areas and items) that courses and questions are tagged to."""
