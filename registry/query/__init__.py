"""Requesters' SPARQL: the checks and dataset, result formats, worker processes on index
snapshots with a hard time limit, the network sandbox, peer relay and fair shares.
"""
