"""The shared-memory pipeline: buffers, schemas, mixins, publisher and receiver."""
