provider "registry.terraform.io/a/b" {
  version = "1.0"
  hashes = [
