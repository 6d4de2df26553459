"""Flexibility markets: an FSP's commercial information, each market's requirements
(signposting), data-sharing agreements and the shared copies enforcing them, the public
directory and complaints and disputes (redress).
"""
