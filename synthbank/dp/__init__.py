"""Differential privacy for the tables: a budget split into accounted parts, noisy marginals and correlations, a DP copula of linked tables."""
