provider "REGISTRY.terraform.io/A/b" {
  version = "01.0.0"
}
