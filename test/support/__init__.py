"""What the tests share: doubles (the pyzed double), helpers (ROS nodes, workers, bags, probes) and data."""
