"""Doc-faithful local fakes of the brokers' HTTP APIs (test infrastructure and demo aid)."""
