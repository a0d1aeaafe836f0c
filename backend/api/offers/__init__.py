"""The offers API: the catalogue, redemption, vouchers and the milestone ladder."""
