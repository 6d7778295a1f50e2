"""What a file says about itself beyond its bytes: a photo's EXIF capture time and place and the HEIC/HEIF
opener (photos), and the date a version speaks for against the campaign's assessment period, with who is shown
a photo's place (dating).

May call: the foundation modules (access) and the models; called by submission, search, exports."""
