"""What the registry publishes: DCAT catalogues, graph IRIs, change feeds, statistics with
disclosure control, browsing, members' own records, search, federated lookup and asset lists.
"""
