"""Operations on images (see apps/jobs/registry.py for the contract)."""
