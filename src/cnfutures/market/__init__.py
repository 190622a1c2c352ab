"""Reference data: products, trading calendars, contracts and dated rule parameters."""
