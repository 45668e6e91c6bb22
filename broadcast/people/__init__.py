"""Who may do what: accounts, passwords and tokens, communes (tenancy), the login guard, the audit log."""
