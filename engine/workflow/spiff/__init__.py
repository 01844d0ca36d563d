"""The only package that talks to SpiffWorkflow.

Everything else in the engine goes through these modules and sees plain data: parsed definitions,
task and timer views, and JSON state.
"""
