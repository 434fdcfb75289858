provider "hashicorp/aws" {
  version = "1.0.0"
}
