"""Outcomes lab: a seeded simulation of debtors run through the real planner (pure)."""
