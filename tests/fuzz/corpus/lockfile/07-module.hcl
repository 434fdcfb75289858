module "x" {
}
provider "registry.terraform.io/a/b" {
  version = "1.0.0-beta.1+meta"
  constraints = ">= 1.0.0, < 2.0.0"
}
