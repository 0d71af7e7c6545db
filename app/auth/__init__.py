"""Authentication: users, login sessions, roles (learner, officer, admin)."""
