"""Organisation: departments (a tree with a closure table), staff users, officer scopes."""
