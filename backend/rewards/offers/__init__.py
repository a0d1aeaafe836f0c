"""Offers and vouchers: the catalogue, who may see and redeem what, vouchers and gifts."""
