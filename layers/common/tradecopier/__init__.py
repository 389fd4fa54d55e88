"""Trade copier core: domain, data access, brokers, fan-out and the logic the Lambda handlers call."""
