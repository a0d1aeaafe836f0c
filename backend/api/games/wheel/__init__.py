"""The wheel of points over GraphQL: `wheel`, `configureWheel`, `spinWheel` and the dashboard fields."""
