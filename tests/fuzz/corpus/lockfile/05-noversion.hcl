provider "registry.terraform.io/a/b" {
  constraints = ">= 1.0.0"
}
