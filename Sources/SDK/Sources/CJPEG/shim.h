/* libjpeg (Debian: libjpeg62-turbo-dev) needs stdio.h before jpeglib.h. */
#include <stdio.h>
#include <jpeglib.h>
