"""Tests of the aws stack against real S3-API and MLflow servers on 127.0.0.1."""
