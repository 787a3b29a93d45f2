module github.com/lvsdoctor/lvsdoctor

go 1.26.8
