"""Who a retention offer keeps: uplift models learned from randomised campaigns."""
