"""What the API and the web pages share: dependencies, paging, errors, ETags, uploads, HTTP guards."""
