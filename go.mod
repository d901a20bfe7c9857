module manta

go 1.26.0
