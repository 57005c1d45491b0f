"""Connections to venues: the offline replay exchange and (later) the Alpaca adapter."""
