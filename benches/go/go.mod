module grove-bench-go

go 1.19
