"""The knowledge side: datasets, documents, chunks, the parse queue and its worker
(ingestion, image description), and retrieval over a tenant's datasets."""
