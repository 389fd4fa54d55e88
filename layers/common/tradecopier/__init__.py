"""Trade copier core: domain, data access, brokers, provisioning and the logic the Lambda handlers call."""
