"""The fast tier: pure logic, no servers, no subprocesses (`make test-unit`)."""
