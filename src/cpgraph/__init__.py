"""cpgraph: a knowledge graph and search service for cross-agency child-protection records."""

__version__ = "0.1.0"
