"""Side-by-side benchmarks of drumgate against the peer a user would otherwise pick."""
