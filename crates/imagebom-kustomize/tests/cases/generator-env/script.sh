#!/bin/sh
echo "hi"   


