# Real redis-server / nats-server fixtures for every test package (see runtime/testkit).
pytest_plugins = ["runtime.testkit.pytest_plugin"]
