provider "registry.terraform.io/a/b" {
  version = var.x
  hashes = "h1:abc"
}
