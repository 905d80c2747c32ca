import ArgumentParser
import CILSDK

CIL.main()
