"""Jobs of apps.ipam (registered from IpamConfig.ready())."""
