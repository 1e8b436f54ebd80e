"""Helpers shared by the test suite: free ports, system binaries, processes started by PID."""
