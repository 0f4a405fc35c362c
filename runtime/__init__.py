"""schemabus runtime: envelope, codec, transports, dispatch and the test kit."""
