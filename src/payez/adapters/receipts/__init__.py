"""Documents Payez writes for its users: tax receipts as PDF."""
