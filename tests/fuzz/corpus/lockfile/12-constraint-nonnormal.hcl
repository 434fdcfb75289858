provider "registry.terraform.io/a/b" {
  version = "1.0.0"
  constraints = ">=1.0"
}
