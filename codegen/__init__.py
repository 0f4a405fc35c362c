"""schemabus code generator: contracts -> generated/."""
