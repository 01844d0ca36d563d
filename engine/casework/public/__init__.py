"""The citizen's side of the closed loop (码上服务): the policy guide (码上知), help requests with a
receipt (码上办), the publicity board with objections (码上公示) and satisfaction ratings.

Everything here is reachable without a login, so every function takes plain values, checks them,
and returns views that carry no ID numbers, no health data and no full names.
"""
