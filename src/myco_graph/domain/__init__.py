"""Domain: models, services and the consent decision."""
