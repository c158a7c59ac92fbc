"""Traffic limit operations on a VM: hold its network to a rate, and free it again."""
