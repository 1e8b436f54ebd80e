"""What a person reads: figures and HTML pages drawn from the domain's numbers.

Kept apart from the statistics, so computing a metric or a drift check never imports
matplotlib, and a report can change without touching a threshold.
"""
